//! The synthetic world: countries, cities, networks and user agents.

pub(crate) struct City {
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Offset of local time from UTC, hours.
    pub utc_offset: i64,
}

pub(crate) struct Country {
    pub code: &'static str,
    /// Share of platform users living there.
    pub users: f64,
    /// Weight as an origin of naive attacks.
    pub attackers: f64,
    pub cities: &'static [City],
    /// Residential and mobile networks.
    pub consumer_asns: &'static [u32],
    /// Data centres and VPN exits.
    pub hosting_asns: &'static [u32],
}

macro_rules! city {
    ($name:expr, $lat:expr, $lon:expr, $off:expr) => {
        City {
            name: $name,
            lat: $lat,
            lon: $lon,
            utc_offset: $off,
        }
    };
}

pub(crate) const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        users: 18.0,
        attackers: 1.0,
        cities: &[
            city!("Berlin", 52.52, 13.40, 1),
            city!("Munich", 48.14, 11.58, 1),
            city!("Hamburg", 53.55, 9.99, 1),
        ],
        consumer_asns: &[3320, 3209, 6805],
        hosting_asns: &[24940, 51167],
    },
    Country {
        code: "FR",
        users: 12.0,
        attackers: 1.0,
        cities: &[
            city!("Paris", 48.86, 2.35, 1),
            city!("Lyon", 45.76, 4.84, 1),
            city!("Marseille", 43.30, 5.37, 1),
        ],
        consumer_asns: &[3215, 12322, 5410],
        hosting_asns: &[16276, 12876],
    },
    Country {
        code: "GB",
        users: 12.0,
        attackers: 1.0,
        cities: &[
            city!("London", 51.51, -0.13, 0),
            city!("Manchester", 53.48, -2.24, 0),
        ],
        consumer_asns: &[2856, 5089, 5607],
        hosting_asns: &[20860, 60011],
    },
    Country {
        code: "US",
        users: 20.0,
        attackers: 4.0,
        cities: &[
            city!("New York", 40.71, -74.01, -5),
            city!("Chicago", 41.88, -87.63, -6),
            city!("Los Angeles", 34.05, -118.24, -8),
        ],
        consumer_asns: &[7922, 7018, 701],
        hosting_asns: &[16509, 14061, 15169],
    },
    Country {
        code: "NL",
        users: 6.0,
        attackers: 3.0,
        cities: &[
            city!("Amsterdam", 52.37, 4.90, 1),
            city!("Rotterdam", 51.92, 4.48, 1),
        ],
        consumer_asns: &[1136, 33915],
        hosting_asns: &[60781, 49981],
    },
    Country {
        code: "PL",
        users: 6.0,
        attackers: 1.0,
        cities: &[
            city!("Warsaw", 52.23, 21.01, 1),
            city!("Krakow", 50.06, 19.94, 1),
        ],
        consumer_asns: &[5617, 12741],
        hosting_asns: &[57367],
    },
    Country {
        code: "BR",
        users: 8.0,
        attackers: 4.0,
        cities: &[
            city!("Sao Paulo", -23.55, -46.63, -3),
            city!("Rio de Janeiro", -22.91, -43.17, -3),
        ],
        consumer_asns: &[28573, 18881],
        hosting_asns: &[262287, 53013],
    },
    Country {
        code: "IN",
        users: 8.0,
        attackers: 4.0,
        cities: &[
            city!("Mumbai", 19.08, 72.88, 5),
            city!("Delhi", 28.61, 77.21, 5),
        ],
        consumer_asns: &[9829, 24560, 55836],
        hosting_asns: &[133480],
    },
    Country {
        code: "JP",
        users: 5.0,
        attackers: 1.0,
        cities: &[
            city!("Tokyo", 35.68, 139.69, 9),
            city!("Osaka", 34.69, 135.50, 9),
        ],
        consumer_asns: &[2516, 4713],
        hosting_asns: &[2914, 9370],
    },
    Country {
        code: "AU",
        users: 5.0,
        attackers: 1.0,
        cities: &[
            city!("Sydney", -33.87, 151.21, 10),
            city!("Melbourne", -37.81, 144.96, 10),
        ],
        consumer_asns: &[1221, 4804],
        hosting_asns: &[135887],
    },
    Country {
        code: "RU",
        users: 0.0,
        attackers: 6.0,
        cities: &[
            city!("Moscow", 55.76, 37.62, 3),
            city!("Saint Petersburg", 59.93, 30.36, 3),
        ],
        consumer_asns: &[12389, 8359],
        hosting_asns: &[49505, 48282],
    },
    Country {
        code: "NG",
        users: 0.0,
        attackers: 4.0,
        cities: &[city!("Lagos", 6.52, 3.38, 1)],
        consumer_asns: &[29465, 37148],
        hosting_asns: &[37282],
    },
    Country {
        code: "CN",
        users: 0.0,
        attackers: 5.0,
        cities: &[
            city!("Beijing", 39.90, 116.40, 8),
            city!("Shanghai", 31.23, 121.47, 8),
        ],
        consumer_asns: &[4134, 4837],
        hosting_asns: &[45102, 37963],
    },
    Country {
        code: "VN",
        users: 0.0,
        attackers: 3.0,
        cities: &[city!("Hanoi", 21.03, 105.85, 7)],
        consumer_asns: &[7552, 45899],
        hosting_asns: &[131414],
    },
];

/// First two octets of addresses an ASN announces; derived, so every ASN has its own space.
pub(crate) fn asn_block(asn: u32, block: u32) -> (u8, u8) {
    let h = crate::hash::mix(u64::from(asn) << 8 | u64::from(block));
    let first = [
        11u8, 23, 31, 37, 41, 45, 46, 62, 77, 78, 80, 81, 84, 85, 91, 93, 94, 95, 103, 109, 151,
        176, 178, 185, 188, 193, 194, 195, 212, 213, 217,
    ][(h % 31) as usize];
    (first, ((h >> 8) % 256) as u8)
}

/// A user-agent family: the template takes a browser version (and an OS version where it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    WindowsChrome,
    WindowsEdge,
    WindowsFirefox,
    MacSafari,
    MacChrome,
    LinuxFirefox,
    IphoneSafari,
    AndroidChrome,
}

pub(crate) const DESKTOP_CLIENTS: &[(Client, f64)] = &[
    (Client::WindowsChrome, 40.0),
    (Client::WindowsEdge, 15.0),
    (Client::WindowsFirefox, 8.0),
    (Client::MacSafari, 15.0),
    (Client::MacChrome, 15.0),
    (Client::LinuxFirefox, 7.0),
];
pub(crate) const PHONE_CLIENTS: &[(Client, f64)] =
    &[(Client::IphoneSafari, 55.0), (Client::AndroidChrome, 45.0)];
const ANDROID_MODELS: &[&str] = &["SM-S918B", "Pixel 8", "SM-A546B", "M2101K6G", "CPH2581"];

impl Client {
    /// The user-agent string `days` days into the stream: browsers auto-update about monthly.
    pub(crate) fn user_agent(self, version_offset: i64, model: usize) -> String {
        let chrome = 118 + version_offset;
        match self {
            Client::WindowsChrome => format!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36"
            ),
            Client::WindowsEdge => format!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0"
            ),
            Client::WindowsFirefox => {
                let v = 119 + version_offset;
                format!(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
                )
            }
            Client::MacSafari => format!(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{} Safari/605.1.15",
                version_offset.rem_euclid(6)
            ),
            Client::MacChrome => format!(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36"
            ),
            Client::LinuxFirefox => {
                let v = 119 + version_offset;
                format!("Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
            }
            Client::IphoneSafari => {
                let minor = version_offset.rem_euclid(6);
                format!(
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{minor} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{minor} Mobile/15E148 Safari/604.1"
                )
            }
            Client::AndroidChrome => format!(
                "Mozilla/5.0 (Linux; Android 14; {}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
                ANDROID_MODELS[model % ANDROID_MODELS.len()]
            ),
        }
    }
}
