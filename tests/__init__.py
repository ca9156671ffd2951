"""The test suite of dify, and the fake Dify server it runs against."""
