# Third-party libraries, all from Debian packages. Their headers are added as
# system includes so that our warning flags do not apply to them.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# Debian's CAF ships no CMake package configuration.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)

# The package is named msgpack, its target msgpackc-cxx.
find_package(msgpack REQUIRED CONFIG PATHS /usr/lib/x86_64-linux-gnu/cmake/msgpackc-cxx)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Hiredis 0.14 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)

add_library(hiredis::hiredis INTERFACE IMPORTED)
set_target_properties(hiredis::hiredis PROPERTIES
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${HIREDIS_INCLUDE_DIRS}"
  INTERFACE_LINK_LIBRARIES "${HIREDIS_LIBRARIES}")
