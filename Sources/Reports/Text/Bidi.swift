import CFriBidi

/// The Unicode Bidirectional Algorithm (UAX #9) through FriBidi, including paired brackets.
enum Bidi {
    /// Embedding levels per character and the resolved paragraph direction.
    static func levels(_ scalars: [Unicode.Scalar], base: BaseDirection) -> (levels: [UInt8], rightToLeft: Bool) {
        let count = scalars.count
        if count == 0 { return ([], base == .rightToLeft) }
        var chars = scalars.map { FriBidiChar($0.value) }
        var types = [FriBidiCharType](repeating: FRIBIDI_TYPE_LTR, count: count)
        var brackets = [FriBidiBracketType](repeating: 0, count: count)
        var levels = [FriBidiLevel](repeating: 0, count: count)
        fribidi_get_bidi_types(&chars, FriBidiStrIndex(count), &types)
        fribidi_get_bracket_types(&chars, FriBidiStrIndex(count), &types, &brackets)
        var direction: FriBidiParType =
            switch base {
            case .leftToRight: FRIBIDI_PAR_LTR
            case .rightToLeft: FRIBIDI_PAR_RTL
            case .auto: FRIBIDI_PAR_ON
            }
        let maxLevel = fribidi_get_par_embedding_levels_ex(
            &types, &brackets, FriBidiStrIndex(count), &direction, &levels)
        if maxLevel == 0 {
            // FriBidi failed (out of memory): fall back to the paragraph level everywhere.
            let rtl = base == .rightToLeft
            return ([UInt8](repeating: rtl ? 1 : 0, count: count), rtl)
        }
        let rtl = direction == FRIBIDI_PAR_RTL
        return (levels.map { UInt8(bitPattern: $0) }, rtl)
    }

    /// Rule L2: from the highest level down to the lowest odd level, reverse every maximal
    /// sequence of items at that level or higher. Returns the visual order of the item indexes.
    static func visualOrder(levels: [UInt8]) -> [Int] {
        var order = Array(levels.indices)
        guard let highest = levels.max(), let lowestOdd = levels.filter({ $0 & 1 == 1 }).min() else { return order }
        var level = highest
        while level >= lowestOdd {
            var i = 0
            while i < order.count {
                if levels[order[i]] >= level {
                    var j = i
                    while j < order.count, levels[order[j]] >= level { j += 1 }
                    order[i..<j].reverse()
                    i = j
                } else {
                    i += 1
                }
            }
            if level == 0 { break }
            level -= 1
        }
        return order
    }
}
