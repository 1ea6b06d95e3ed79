"""The API gateway: Envoy, configured from one Python source (see envoy_config)."""
