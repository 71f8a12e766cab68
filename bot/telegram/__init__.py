"""The Telegram face: python-telegram-bot handlers that render the engine's answers.

``app.build_application`` wires everything; ``runner.run_bot`` runs it (polling or webhook).
Nothing here chooses quotes: the engine answers, this package renders and sends.
"""
