// A shared library that is no plugin: it exports neither
// holdfast_plugin_api_version nor holdfast_plugin_register.

extern "C" int holdfast_test_not_a_plugin() {
  return 0;
}
