# Let the monitoring engine read the example config: the package ships it 0640 root:root.
# Icinga 2 runs plugins as user icinga on RHEL, Nagios as nagios, NRPE as nrpe; the first
# of these groups that exists gets read access. A group chosen by the administrator
# (anything but root) is kept, on upgrades too.
conf=/etc/check_tidb_log_backup/config.toml
if [ -f "$conf" ] && [ "$(stat -c %G "$conf")" = root ]; then
    for group in icinga nagios nrpe; do
        if getent group "$group" >/dev/null 2>&1; then
            chgrp "$group" "$conf"
            break
        fi
    done
fi
exit 0
