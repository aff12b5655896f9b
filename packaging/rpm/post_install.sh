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
# The state directory (docs/state.md): /var/lib/check_tidb_log_backup, 0700, for the first
# of the users icinga, nagios and nrpe that exists. The check trusts it only when it is
# the running user's own and writable by no one else. An owner chosen by the
# administrator (anything but root) is kept, on upgrades too; a symlink there is left
# alone (the check refuses it).
state=/var/lib/check_tidb_log_backup
if [ ! -e "$state" ] && [ ! -L "$state" ]; then
    mkdir -m 0700 "$state"
fi
if [ -d "$state" ] && [ ! -L "$state" ] && [ "$(stat -c %U "$state")" = root ]; then
    for user in icinga nagios nrpe; do
        if getent passwd "$user" >/dev/null 2>&1; then
            chown "$user": "$state"
            break
        fi
    done
fi
exit 0
