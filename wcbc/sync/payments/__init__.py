"""sync-fulfilment, payments half: a web order the store shows paid settles its posted BC invoice.

Off while ``[payments] journals`` is empty. Per order: a customer payment line in the journal mapped to the
order's payment method (business-central.md §10.5: amount negative, applied to the posted invoice,
``externalDocumentNumber`` = the transaction id), its batch posted through
``journals({id})/Microsoft.NAV.post`` (INFERRED by the contract), and the invoice's
``remainingAmount`` read back. The idempotency key is the
line's ``documentNumber`` (``payments.document_prefix`` + the order number): looked up in the journal
before a line is created; once posted, the invoice no longer open is the proof.

* :mod:`.read`: open posted invoices, their web orders, the journals, lines already in them;
* :mod:`.plan`: pure decisions and writes; :mod:`.apply`: the writes and the Ledger; :mod:`.sync`: the
  orchestrator with the one dry-run branch.
"""
