from tests.sales.conftest import lake  # noqa: F401  (the embedded warehouse fixture)
