#!/usr/bin/python3
"""read_export.py FORMAT FILE - an export file read back by an independent
reader, printed as JSON for test_export.c:

  {"sheets": [[title, rows], ...], "rows": [[cell, ...], ...]}

rows are every sheet's rows in order (each sheet's header row included as
its first row); every cell is a string: numbers as %.15g (integral ones
without a decimal point), empty cells as "".
CSV is read with Python's csv module, XLSX with openpyxl (Debian's
python3-openpyxl), neither of which shares code with the writer. Every XML
part of an XLSX is first parsed by a strict XML 1.0 parser (expat, through
xml.etree): a part that is not well-formed fails the read (exit 4), as it
fails Excel, whatever openpyxl makes of it."""
import csv
import json
import sys

try:
    from openpyxl.utils.escape import unescape
except ImportError:  # pragma: no cover
    def unescape(v):
        return v


def text(v):
    if isinstance(v, str):
        # what Excel does with the _xHHHH_ escapes of OOXML (libxlsxwriter
        # writes control characters such as CR that way); openpyxl's
        # read-only reader leaves them as they are
        return unescape(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.15g" % v
    return str(v)


def main():
    fmt, path = sys.argv[1], sys.argv[2]
    sheets, rows = [], []
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            data = f.read()
        # RFC 4180 line ends: every record ends in CRLF
        if data and not data.endswith("\r\n"):
            print("no CRLF at the end of the file", file=sys.stderr)
            sys.exit(3)
        for r in csv.reader(data.splitlines(keepends=True), strict=True):
            rows.append(r)
        sheets.append(["csv", len(rows)])
    else:
        import openpyxl
        import xml.etree.ElementTree as ET
        import zipfile
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".xml") or name.endswith(".rels"):
                    try:
                        ET.fromstring(z.read(name))
                    except ET.ParseError as e:
                        print("%s: not well-formed XML: %s" % (name, e), file=sys.stderr)
                        sys.exit(4)
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            n = 0
            for r in ws.iter_rows(values_only=True):
                rows.append([text(v) for v in r])
                n += 1
            sheets.append([ws.title, n])
    json.dump({"sheets": sheets, "rows": rows}, sys.stdout, ensure_ascii=False)


main()
