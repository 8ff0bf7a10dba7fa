import Foundation

/// A device-independent document: pages of placed items, in points with the origin at the
/// top-left of the page (y grows downwards). Invoices, reconciliation summaries and parity
/// reports all build one of these; `PDFRenderer` turns it into bytes.
public struct Document: Sendable {
    public var title: String
    /// BCP 47 language of the document (`/Lang` in the catalog).
    public var language: String
    public var subject: String?
    public var author: String?
    /// Recorded as creation and modification date. Comes from the data (an invoice's issue
    /// time), never from the wall clock, so the same document renders to the same bytes.
    public var date: Date
    public var pages: [Page]

    public init(
        title: String, language: String, subject: String? = nil, author: String? = nil, date: Date,
        pages: [Page] = []
    ) {
        self.title = title
        self.language = language
        self.subject = subject
        self.author = author
        self.date = date
        self.pages = pages
    }
}

public struct Page: Sendable {
    public var width: Double
    public var height: Double
    public var items: [PageItem]

    public static let a4Width = 595.276
    public static let a4Height = 841.89

    public init(width: Double = Page.a4Width, height: Double = Page.a4Height, items: [PageItem] = []) {
        self.width = width
        self.height = height
        self.items = items
    }
}

/// An 8-bit RGB raster, drawn scaled into a box.
public struct RasterImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes, row-major from the top.
    public var rgb: [UInt8]
    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == width * height * 3, "RGB buffer size does not match the dimensions")
        self.width = width
        self.height = height
        self.rgb = rgb
    }
}

public enum PageItem: Sendable {
    /// A laid-out paragraph whose box's top-left corner is at (x, y).
    case paragraph(Paragraph, x: Double, y: Double)
    /// A straight line.
    case rule(x1: Double, y1: Double, x2: Double, y2: Double, width: Double, color: RGB)
    /// A filled rectangle with top-left corner (x, y).
    case rectangle(x: Double, y: Double, width: Double, height: Double, fill: RGB)
    /// A QR code drawn as vector squares, `size` points wide including its quiet zone.
    case qr(QRCode, x: Double, y: Double, size: Double)
    case image(RasterImage, x: Double, y: Double, width: Double, height: Double)
}
