/* deb9_image.h - the Debian 9 image of the vulnerability tests: an
 * os-release and a dpkg status with six packages, four of which the
 * fixture DLAs (fixtures/scan/osv/osv-scanner-offline-db/Debian) affect.
 * Included by test_scan_vulns.c and test_scan_rematch.c. */
#ifndef IMGSEC_TEST_DEB9_IMAGE_H
#define IMGSEC_TEST_DEB9_IMAGE_H

#include "../../unit/scan_builder.h"

static const char STATUS[] =
    "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.18.25\n\n"
    "Package: libxml2\nStatus: install ok installed\nArchitecture: amd64\n"
    "Version: 2.9.4+dfsg1-2.2+deb9u6\n\n"
    "Package: libssl1.1\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
    "Version: 1.1.0l-1~deb9u5\n\n"
    "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
    "Version: 1.1.0l-1~deb9u6\n\n"
    "Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2021a-0+deb9u3\n\n"
    "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\n"
    "Version: 1:1.2.8.dfsg-5\n";

static const sb_file FILES[] = {
    {"etc/os-release", 'f', "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nID=debian\nVERSION_ID=\"9\"\n",
     0, 0},
    {"var/lib/dpkg/status", 'f', STATUS, 0, 0},
};

#endif
