//! A share's link as a QR code, for a phone's camera: half blocks for the terminal (`share`),
//! SVG for the dashboard (drawn here, so the page needs no script library). Pure.

use qrcode::render::{svg, unicode::Dense1x2};
use qrcode::QrCode;

/// Two rows of modules per line, light on dark terminals; empty if the link can't be encoded.
pub(crate) fn terminal(link: &str) -> String {
    match QrCode::new(link.as_bytes()) {
        Ok(code) => {
            let mut text = code
                .render::<Dense1x2>()
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .build();
            text.push('\n');
            text
        }
        Err(_) => String::new(),
    }
}

/// An `<svg>` element (no XML declaration) that scales with its box; empty if the link can't
/// be encoded.
pub(crate) fn svg(link: &str) -> String {
    match QrCode::new(link.as_bytes()) {
        Ok(code) => {
            let image = code
                .render::<svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // The renderer writes a standalone document; the page wants the element.
            match image.find("<svg") {
                Some(at) => image[at..].to_string(),
                None => String::new(),
            }
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "http://192.168.1.20:41234/?portproxy-share=0123";

    #[test]
    fn the_terminal_code_is_drawn_with_half_blocks() {
        let code = terminal(LINK);
        assert!(code.lines().count() > 10);
        assert!(code.contains('▀') || code.contains('▄'));
    }

    #[test]
    fn the_page_gets_an_svg_element() {
        let image = svg(LINK);
        assert!(image.starts_with("<svg"), "{image}");
        assert!(image.trim_end().ends_with("</svg>"));
        assert!(image.contains("<path"), "modules are drawn");
        assert!(!image.contains("<?xml"));
        assert_ne!(svg("http://127.0.0.1:1/?portproxy-share=1"), image);
    }
}
