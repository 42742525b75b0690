# Fails the way a real tool does: some progress on standard output, the reason on standard error.
echo "loading the weights"
echo "error: cannot open /nonexistent/weights.bin" >&2
exit 3
