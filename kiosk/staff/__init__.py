"""kiosk.staff — the Qt-free core of teller mode (bank-branch delegated processing) and technician mode.

    teller.TellerMode          sign-in at the center, idle sign-out, supervisor authorization, stamped transactions
    combined_loan              组合贷款: HPF part (center) + commercial part (bank), one schedule view
    eod.end_of_day             the teller's day reconciled with the center, as a PDF report
    technician.TechnicianMode  PIN unlock + device self-tests, config edit/rollback, enrollment, netcheck, queue,
                               masked log export, info
    pin / hidden_entry         scrypt PIN with persisted lockout; corner long-press detector
    remote.RemoteCommands      the catalog's remote commands applied on the next sync (log upload, switches)
Every method raises kiosk.staff.errors.StaffError (code, Chinese message, English detail) for what a user
can meet; screens render the `view()` dictionaries."""
