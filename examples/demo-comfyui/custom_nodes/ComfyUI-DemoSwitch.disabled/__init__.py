# A disabled demo pack: its nodes do not count as installed.
NODE_CLASS_MAPPINGS = {"DemoSwitch": object}
