//! The operating system and browser a User-Agent string implies, from the product
//! tokens browsers and common tools send (no online look-up).

/// Operating system and browser of a User-Agent; `None` where nothing matches.
pub fn classify(ua: &str) -> (Option<&'static str>, Option<&'static str>) {
    (os_of(ua), browser_of(ua))
}

fn os_of(ua: &str) -> Option<&'static str> {
    // Order matters: Android and ChromeOS say Linux too, iOS devices say Mac OS X.
    const RULES: &[(&str, &str)] = &[
        ("Windows Phone", "Windows Phone"),
        ("Windows NT", "Windows"),
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("iPod", "iOS"),
        ("CrOS", "Chrome OS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Ubuntu", "Linux"),
        ("Linux", "Linux"),
        ("FreeBSD", "FreeBSD"),
        ("OpenBSD", "OpenBSD"),
    ];
    RULES
        .iter()
        .find(|(t, _)| ua.contains(t))
        .map(|(_, os)| *os)
}

fn browser_of(ua: &str) -> Option<&'static str> {
    // Chromium derivatives also say Chrome and Safari; Chrome also says Safari.
    const RULES: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("Edge/", "Edge"),
        ("OPR/", "Opera"),
        ("Opera", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
        ("MSIE ", "Internet Explorer"),
        ("Trident/", "Internet Explorer"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "python-requests"),
        ("Python-urllib/", "Python urllib"),
        ("Go-http-client/", "Go http client"),
        ("Java/", "Java"),
        ("Microsoft-CryptoAPI/", "Microsoft CryptoAPI"),
        ("Windows-Update-Agent", "Windows Update Agent"),
    ];
    RULES.iter().find(|(t, _)| ua.contains(t)).map(|(_, b)| *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        assert_eq!(
            classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"),
            (Some("Windows"), Some("Edge"))
        );
        assert_eq!(
            classify("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"),
            (Some("Android"), Some("Chrome"))
        );
        assert_eq!(
            classify("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"),
            (Some("iOS"), Some("Safari"))
        );
        assert_eq!(
            classify(
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
            ),
            (Some("Linux"), Some("Firefox"))
        );
        assert_eq!(classify("curl/8.4.0"), (None, Some("curl")));
        assert_eq!(
            classify("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)"),
            (Some("Windows"), Some("Internet Explorer"))
        );
        assert_eq!(classify(""), (None, None));
    }
}
