"""The faces of Verbatim: the command line and the Telegram bot. Rendering only."""
