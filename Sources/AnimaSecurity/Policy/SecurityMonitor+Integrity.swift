import AnimaCore

extension SecurityMonitor {
    /// Records a tool's output that reached a process, and marks its sources suspect when
    /// the injection detector finds instructions in it (values from it are then not "from
    /// the source the user pointed to"). The detector runs whether or not the guards are on.
    public func observe(toolOutput text: String, label: ProvenanceLabel, in ledger: inout ProvenanceLedger) {
        guard tracksProvenance else { return }
        // A repeat of a short text already recorded with this label was scanned then.
        guard ledger.record(text, label: label) else { return }
        if !label.isTrusted, !PatternScanner.injectionPhrases.scan(text).isEmpty { ledger.markSuspect(label) }
    }
}
