"""The YAML files people edit (flows/, queues.yaml, telephony.yaml, the calendar): loaded
safely within limits (safe_yaml.py), every problem located at file:line:col (problems.py)."""
