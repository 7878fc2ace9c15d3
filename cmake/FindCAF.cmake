# FindCAF.cmake -- locates the C++ Actor Framework (core and io) as shipped by
# Debian's libcaf-dev 0.17.6, which installs headers and libraries but no CMake
# package configuration.
#
# Result variables:  CAF_FOUND, CAF_VERSION, CAF_INCLUDE_DIRS
# Imported targets:  CAF::core, CAF::io, CAF::openssl (CAF's TLS transport,
#                    with OpenSSL::SSL from CMake's FindOpenSSL)
#
# Hints: CAF_ROOT_DIR (a prefix to search first).

find_path(CAF_INCLUDE_DIR
  NAMES caf/config.hpp
  HINTS ${CAF_ROOT_DIR}/include)

find_library(CAF_CORE_LIBRARY
  NAMES caf_core
  HINTS ${CAF_ROOT_DIR}/lib ${CAF_ROOT_DIR}/lib64)

find_library(CAF_IO_LIBRARY
  NAMES caf_io
  HINTS ${CAF_ROOT_DIR}/lib ${CAF_ROOT_DIR}/lib64)

find_library(CAF_OPENSSL_LIBRARY
  NAMES caf_openssl
  HINTS ${CAF_ROOT_DIR}/lib ${CAF_ROOT_DIR}/lib64)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE "^#define CAF_VERSION ([0-9]+).*" "\\1"
         _caf_version_int "${_caf_version_line}")
  if(_caf_version_int)
    math(EXPR _caf_major "${_caf_version_int} / 10000")
    math(EXPR _caf_minor "(${_caf_version_int} / 100) % 100")
    math(EXPR _caf_patch "${_caf_version_int} % 100")
    set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_OPENSSL_LIBRARY
                CAF_INCLUDE_DIR
  VERSION_VAR CAF_VERSION)

if(CAF_FOUND)
  set(CAF_INCLUDE_DIRS "${CAF_INCLUDE_DIR}")
  find_package(Threads REQUIRED)
  if(NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  find_package(OpenSSL REQUIRED)
  if(NOT TARGET CAF::openssl)
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES
      IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
  endif()
endif()

mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY
  CAF_OPENSSL_LIBRARY)
