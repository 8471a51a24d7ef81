from ehr_bridge.cli.main import run

run()
