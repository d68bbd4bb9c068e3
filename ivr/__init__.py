"""What happens on an answered call: the IVR script, its interpreter, the FastAGI adapter,
speech recognition and prompt conversion."""
