
{"image":{"image_type":"cicd","image_name":"a"}}
  
{"image":{"image_type":"cicd","image_name":"b"}}
