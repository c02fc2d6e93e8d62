"""The hls4ml backend of ``sbnn synth --backend hls4ml``: IR -> hls4ml project, C-simulated against the
bit-exact simulator."""
