"""The application's settings: the schema shared by flags, CAPREC_* variables, the config file and batch plans."""
