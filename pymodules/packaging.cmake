# Debian package: `cpack -G DEB` in the build directory (or `ninja package`) gives
# hive-py_<version>_<arch>.deb with
#   /usr/bin/hive-py, /usr/bin/hive-py-precommit
#   /usr/lib/python3/dist-packages/hive_sandbox.cpython-311-<triplet>.so
#   /etc/hive-py/security_policy.yml (a conffile)
#   /usr/share/man/man1/hive-py.1.gz, /usr/share/doc/hive-py/, /usr/share/hive-py/hooks/pre-commit
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "hive-py")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "hive-py")
set(CPACK_PACKAGE_CONTACT "hive-py maintainers <hive-py@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sandboxed host for Python governance scripts (BIP-025)")
set(CPACK_PACKAGE_DESCRIPTION
  "hive-py runs a Python governance script the way `python3 -I` would, inside a sandbox set by a\n\
security policy (rlimits, namespaces, no_new_privs, Landlock, seccomp), with every file, socket,\n\
subprocess and import event recorded in a hash-chained audit trail. Includes the hive_sandbox\n\
Python module for Debian's python3 and a pre-commit hook.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Library dependencies from dpkg-shlibdeps: whatever hive-py links dynamically (with
# -DHIVE_STATIC_PYTHON=OFF: libpython3.11, libseccomp2, libyaml-cpp0.7, libssl3, zlib1g; with the static
# link, only libc6/libstdc++6/libgcc-s1; the hive_sandbox module links the shared libyaml-cpp0.7 and
# libssl3 in both cases, for the policy parser). Either way the embedded interpreter reads Debian's standard
# library (/usr/lib/python3.11, its lib-dynload modules) at run time: libpython3.11-stdlib.
# The hive_sandbox module itself needs python3 3.11 to be imported (Recommends).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libpython3.11-stdlib (>= 3.11.2)")
set(CPACK_STRIP_FILES ON)  # the build is RelWithDebInfo: ship stripped binaries
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3 (>= 3.11), python3 (<< 3.12)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "pre-commit")
# /etc/hive-py/security_policy.yml is a conffile: an administrator's edits survive upgrades.
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/hive-py/security_policy.yml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Only what a user needs: no test binaries or static libraries are installed by the project.
include(CPack)
