"""What happens on an answered call: the IVR script model, its interpreter, the FastAGI
server and session, speech recognition and prompt conversion."""
