# On erase (not on upgrade, where $1 is 1), remove the state directory that %post
# created (the tasks' checkpoints of earlier runs: nothing the check cannot rebuild).
if [ "$1" = 0 ]; then
    rm -rf /var/lib/check_tidb_log_backup
fi
exit 0
