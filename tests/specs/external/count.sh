# Counts the items of a rung item set: the step under test in tests/external.rs.
# Usage: sh count.sh ITEMS_FOLDER OUTPUT_FOLDER GREETING
set -eu
items="$1/items.jsonl"
count=$(wc -l < "$items" | tr -d ' ')
checksum=$(cksum < "$items" | cut -d ' ' -f 1)
echo "counting $count items"
echo "a note on standard error" >&2
echo "$3: $count items (checksum $checksum), separator ${SEPARATOR:-unset}, passed ${RUNG_TEST_PASSED:-absent}, leaked ${RUNG_TEST_LEAKED:-absent}" > "$2/count.txt"
