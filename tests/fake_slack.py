"""The fake Slack Web API server lives in the library (the demo runs it too); tests import it here."""

from modelwatch.demo.slack_server import FakeSlack, Recorded

__all__ = ["FakeSlack", "Recorded"]
