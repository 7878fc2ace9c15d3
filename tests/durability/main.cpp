// The test runner of quiesce_durability_tests: Catch2's own main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
