import CHarfBuzz
import Foundation

/// One font file, opened once and reused for many documents: HarfBuzz shapes with it,
/// FreeType measures it (advances for the PDF `/W` array, vertical metrics, PostScript name),
/// and hb-subset cuts the glyphs a document used.
///
/// Not thread-safe (FreeType faces are not); each worker keeps its own `FontSet`.
public final class FontFace {
    public let path: String
    /// PostScript name, used in `/BaseFont` after the subset tag.
    public let postScriptName: String
    public let unitsPerEm: Int
    public let ascender: Int
    public let descender: Int
    public let capHeight: Int
    public let bbox: (Int, Int, Int, Int)
    public let isBold: Bool

    private var library: FT_Library?
    private var ftFace: FT_Face?
    private let bytes: UnsafeMutableRawBufferPointer
    private let hbBlob: OpaquePointer
    let hbFace: OpaquePointer
    let hbFont: OpaquePointer
    /// Preprocessed face: makes repeated subsetting of the same font several times faster.
    /// Made on the first subset: a fallback face (4 MB of CJK) most documents never draw from
    /// would otherwise cost every process its preprocessing.
    private var preprocessed: OpaquePointer?
    private var subsetSource: OpaquePointer {
        if let preprocessed { return preprocessed }
        let made = hb_subset_preprocess(hbFace)!
        preprocessed = made
        return made
    }
    private var advanceCache: [UInt32: Int] = [:]
    private var coverageCache: [UInt32: Bool] = [:]

    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FontError.unreadable(path: path, reason: errno == 0 ? "missing" : String(cString: strerror(errno)))
        }
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
        data.copyBytes(to: bytes)
        var lib: FT_Library?
        guard FT_Init_FreeType(&lib) == 0, let lib else {
            bytes.deallocate()
            throw FontError.unreadable(path: path, reason: "FreeType init failed")
        }
        var face: FT_Face?
        guard
            FT_New_Memory_Face(
                lib, bytes.baseAddress!.assumingMemoryBound(to: FT_Byte.self), FT_Long(data.count), 0, &face) == 0,
            let face
        else {
            FT_Done_FreeType(lib)
            bytes.deallocate()
            throw FontError.notAFont(path: path)
        }
        library = lib
        ftFace = face
        let record = face.pointee
        unitsPerEm = Int(record.units_per_EM)
        ascender = Int(record.ascender)
        descender = Int(record.descender)
        bbox = (Int(record.bbox.xMin), Int(record.bbox.yMin), Int(record.bbox.xMax), Int(record.bbox.yMax))
        isBold = (record.style_flags & FT_Long(FT_STYLE_FLAG_BOLD)) != 0
        if let os2 = FT_Get_Sfnt_Table(face, FT_SFNT_OS2)?.assumingMemoryBound(to: TT_OS2.self),
            os2.pointee.sCapHeight > 0
        {
            capHeight = Int(os2.pointee.sCapHeight)
        } else {
            capHeight = Int(record.ascender) * 7 / 10
        }
        postScriptName = FT_Get_Postscript_Name(face).map { String(cString: $0) } ?? "Font"

        hbBlob = hb_blob_create(
            bytes.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(data.count), HB_MEMORY_MODE_READONLY, nil,
            nil)
        hbFace = hb_face_create(hbBlob, 0)
        hbFont = hb_font_create(hbFace)
        // Positions in font units: scale = units per em.
        hb_font_set_scale(hbFont, Int32(unitsPerEm), Int32(unitsPerEm))
    }

    deinit {
        if let preprocessed { hb_face_destroy(preprocessed) }
        hb_font_destroy(hbFont)
        hb_face_destroy(hbFace)
        hb_blob_destroy(hbBlob)
        if let ftFace { FT_Done_Face(ftFace) }
        if let library { FT_Done_FreeType(library) }
        bytes.deallocate()
    }

    /// Whether the outlines are TrueType (`glyf`): what the PDF embeds as `FontFile2`. A CFF font
    /// (most of Noto CJK) would need `FontFile3`, which the writer does not produce.
    public var hasTrueTypeOutlines: Bool {
        let blob = hb_face_reference_table(hbFace, FontFace.tag("glyf"))
        defer { hb_blob_destroy(blob) }
        return hb_blob_get_length(blob) > 0
    }

    /// Whether the font has a glyph for the character (FreeType's cmap lookup).
    public func covers(_ scalar: Unicode.Scalar) -> Bool {
        if let known = coverageCache[scalar.value] { return known }
        let has = FT_Get_Char_Index(ftFace, FT_ULong(scalar.value)) != 0
        coverageCache[scalar.value] = has
        return has
    }

    /// Advance width of a glyph in font units, measured by FreeType without scaling or hinting.
    public func advance(glyph: UInt32) -> Int {
        if let known = advanceCache[glyph] { return known }
        var value: FT_Fixed = 0
        let flags = FT_Int32(FT_LOAD_NO_SCALE) | FT_Int32(FT_LOAD_NO_HINTING)
        let width = FT_Get_Advance(ftFace, FT_UInt(glyph), flags, &value) == 0 ? Int(value) : 0
        advanceCache[glyph] = width
        return width
    }

    /// Subsets the font to `glyphs` (plus `.notdef`), returning the font program and the
    /// old-to-new glyph id map. Layout tables are dropped: the PDF carries positioned glyphs.
    func subset(glyphs: Set<UInt32>) throws -> (program: [UInt8], newID: [UInt32: UInt32]) {
        guard let input = hb_subset_input_create_or_fail() else { throw FontError.subsetFailed(font: path) }
        defer { hb_subset_input_destroy(input) }
        let glyphSet = hb_subset_input_glyph_set(input)
        for glyph in glyphs.sorted() { hb_set_add(glyphSet, glyph) }
        hb_set_clear(hb_subset_input_unicode_set(input))
        let drop = hb_subset_input_set(input, HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in [
            "GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "DSIG", "kern", "morx", "feat", "meta", "name", "post",
            "gasp", "cmap",
        ] {
            hb_set_add(drop, Self.tag(tag))
        }
        hb_subset_input_set_flags(
            input, HB_SUBSET_FLAGS_NO_HINTING.rawValue | HB_SUBSET_FLAGS_NOTDEF_OUTLINE.rawValue)
        guard let plan = hb_subset_plan_create_or_fail(subsetSource, input) else {
            throw FontError.subsetFailed(font: path)
        }
        defer { hb_subset_plan_destroy(plan) }
        var mapping: [UInt32: UInt32] = [:]
        let map = hb_subset_plan_old_to_new_glyph_mapping(plan)
        for glyph in glyphs.union([0]) {
            let new = hb_map_get(map, glyph)
            guard new != UInt32.max else { throw FontError.subsetFailed(font: path) }
            mapping[glyph] = new
        }
        guard let result = hb_subset_plan_execute_or_fail(plan) else { throw FontError.subsetFailed(font: path) }
        defer { hb_face_destroy(result) }
        let blob = hb_face_reference_blob(result)
        defer { hb_blob_destroy(blob) }
        var length: UInt32 = 0
        guard let data = hb_blob_get_data(blob, &length), length > 0 else { throw FontError.subsetFailed(font: path) }
        let program = data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
        return (program, mapping)
    }

    static func tag(_ text: String) -> hb_tag_t {
        let b = Array(text.utf8)
        return (UInt32(b[0]) << 24) | (UInt32(b[1]) << 16) | (UInt32(b[2]) << 8) | UInt32(b[3])
    }
}
