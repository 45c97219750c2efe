"""kiosk.domain — pure rules shared by the kiosk and the center (no I/O, no Qt).

    codes       national code tables (account states, withdrawal reasons, business types, …) with .code/.label_zh
    ids         ResidentId (GB 11643, 15→18, HK/Macau/Taiwan permits), foreign permanent residence, DocumentType
    numbers     BankCard (Luhn advisory), mobile/landline, USCC with its organisation code
    money       parse_yuan / format_yuan / chinese_uppercase — amounts are int fen
    loan        build_schedule (等额本息/等额本金), prepay, full_payoff_amount, max_principal_for_payment
    rates       PBOC HPF rate table by effective date, rate_for, catalog_entries
    retirement  statutory retirement age/date under the 2025 reform
    clientid    new_client_id(): UUIDv7, monotonic in-process
    masking     mask_id_number / mask_phone / mask_card / mask_name / mask_text
    errors      DomainError(code, message_zh, English str) and its kinds
"""
