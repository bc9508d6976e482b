"""Reference implementations the tests hold rsilab to: small, independent, plain Python."""
