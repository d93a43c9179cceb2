{"image":{"image_type":"private_image","image_name":"a","scan_status":"success"}}

{"image":{"image_type":"harbor","image_name":"b","scan_status":"failed"}}