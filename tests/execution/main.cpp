// The Catch2 main of the process launcher tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
