# Summarizes count.sh's output: the dependant step in tests/external.rs.
# Usage: sh summarize.sh COUNT_FILE SUMMARY_FILE
set -eu
echo "summary of: $(cat "$1")" > "$2"
