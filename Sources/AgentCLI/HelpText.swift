/// Help text written as paragraphs in the source, handed to ArgumentParser so that it wraps them
/// at the terminal's width (a manual break at 90 columns reads as a ragged line at 80): the lines
/// of a paragraph are joined with spaces. A blank line separates paragraphs; a line that starts
/// with spaces (an example) or follows one ending in `:` stays on a line of its own, and so does
/// one that starts with `-` (an option, a list item) after a finished sentence.
public func helpText(_ text: String) -> String {
    var out = ""
    var previous: Substring?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        defer { previous = line }
        guard let last = previous else { out += line; continue }
        let sentenceEnded = last.hasSuffix(".") || last.hasSuffix(":") || last.hasSuffix(")")
        let keepBreak = line.isEmpty || last.isEmpty || line.hasPrefix(" ") || last.hasSuffix(":") || (line.hasPrefix("-") && sentenceEnded)
        out += (keepBreak ? "\n" : " ") + line
    }
    return out
}
