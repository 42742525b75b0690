# Waits on a background sleep, leaving both process ids in the checkpoint folder so that the
# cancellation test can check that neither outlives the step.
# Usage: sh slow.sh CHECKPOINT_FOLDER
sleep 300 &
echo $! > "$1/background.pid"
echo $$ > "$1/step.pid"
wait
