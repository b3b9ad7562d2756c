"""What people and programs use: the command line, the web chat, and what they share.
Each is thin over `PaperBot`."""
