"""The LLM agent: litellm tool calling over the repository, the running service and a
scratch area, in four roles (explorer, test writer, environment repairer, instruction
writer). Every role's output goes through the same gate as the static stages' output;
whatever the model cannot do well enough falls back to the static result, with the reason
recorded. See README "The LLM agent".
"""
