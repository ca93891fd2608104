"""Helpers shared by test modules (throwaway servers, proxies, generators); no test module imports
another test module or a conftest."""
