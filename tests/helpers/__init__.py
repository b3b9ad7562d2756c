"""Parts the tests share: a chromium page, a stub language-model server, waits on conditions."""
