//! Where simulated nodes stand: neighbourhoods of Bucharest's Sector 6 with the kind of
//! street each node watches.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use veghe_sensors::{Node, NodeId, NodeStatus};

/// A neighbourhood: name, centre (lat, lon), and how busy its roads are (dB offset of
/// traffic noise against a residential street).
pub struct Neighbourhood {
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub traffic_db: f64,
}

/// Sector 6 of Bucharest, west of the Dâmbovița's bend: its neighbourhoods.
pub const SECTOR_6: &[Neighbourhood] = &[
    Neighbourhood {
        name: "Drumul Taberei",
        lat: 44.4218,
        lon: 26.0290,
        traffic_db: 4.0,
    },
    Neighbourhood {
        name: "Militari",
        lat: 44.4351,
        lon: 26.0145,
        traffic_db: 6.0,
    },
    Neighbourhood {
        name: "Crângași",
        lat: 44.4522,
        lon: 26.0490,
        traffic_db: 5.0,
    },
    Neighbourhood {
        name: "Giulești",
        lat: 44.4601,
        lon: 26.0400,
        traffic_db: 3.0,
    },
    Neighbourhood {
        name: "Ghencea",
        lat: 44.4140,
        lon: 26.0420,
        traffic_db: 2.0,
    },
    Neighbourhood {
        name: "Lujerului",
        lat: 44.4340,
        lon: 26.0330,
        traffic_db: 8.0,
    },
    Neighbourhood {
        name: "Politehnica",
        lat: 44.4385,
        lon: 26.0495,
        traffic_db: 6.0,
    },
    Neighbourhood {
        name: "Gorjului",
        lat: 44.4330,
        lon: 26.0050,
        traffic_db: 5.0,
    },
    Neighbourhood {
        name: "Pacii",
        lat: 44.4345,
        lon: 25.9930,
        traffic_db: 7.0,
    },
    Neighbourhood {
        name: "Parcul Drumul Taberei",
        lat: 44.4265,
        lon: 26.0220,
        traffic_db: -6.0,
    },
    Neighbourhood {
        name: "Lacul Morii",
        lat: 44.4470,
        lon: 26.0300,
        traffic_db: -4.0,
    },
    Neighbourhood {
        name: "Valea Cascadelor",
        lat: 44.4300,
        lon: 26.0100,
        traffic_db: 1.0,
    },
];

/// One simulated node and its local character.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub node: Node,
    /// Traffic noise offset of its street, dB.
    pub traffic_db: f64,
    /// Local particulate offset (stoves, a busy junction), as a factor.
    pub pm_factor: f64,
    pub has_noise: bool,
    pub has_no2: bool,
    /// A Plantower PMS5003 on the UART (PM1 too) instead of an SDS011.
    pub pms5003: bool,
    /// Mains-powered nodes report no battery.
    pub battery: bool,
    pub rssi_dbm: f64,
}

/// `count` nodes spread over Sector 6, the same for the same `seed`.
pub fn fleet(count: usize, seed: u64) -> Vec<SimNode> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let hood = &SECTOR_6[i % SECTOR_6.len()];
            let n_in_hood = i / SECTOR_6.len() + 1;
            // About 600 m of spread around the neighbourhood's centre.
            let lat = hood.lat + rng.gen_range(-0.0055..0.0055);
            let lon = hood.lon + rng.gen_range(-0.0075..0.0075);
            let has_noise = i % 5 != 4;
            let has_no2 = i % 4 == 0;
            let kind = match (has_noise, has_no2) {
                (true, true) => "air+no2+noise",
                (true, false) => "air+noise",
                (false, true) => "air+no2",
                (false, false) => "air",
            };
            let id = NodeId::new(format!("s6-{:04}", i + 1)).expect("generated ids are valid");
            SimNode {
                node: Node {
                    id,
                    name: format!("{} {:02}", hood.name, n_in_hood),
                    kind: kind.to_owned(),
                    lat: Some((lat * 1e6).round() / 1e6),
                    lon: Some((lon * 1e6).round() / 1e6),
                    installed_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1 + (i % 28) as u32),
                    owner: "Primăria Sectorului 6".to_owned(),
                    public: true,
                    status: NodeStatus::Active,
                },
                traffic_db: hood.traffic_db + rng.gen_range(-3.0..3.0),
                pm_factor: rng.gen_range(0.8..1.35),
                has_noise,
                has_no2,
                pms5003: i % 3 == 1,
                battery: i % 7 == 3,
                rssi_dbm: rng.gen_range(-86.0..-48.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_stand_in_sector_6_and_are_stable() {
        let a = fleet(60, 7);
        let b = fleet(60, 7);
        assert_eq!(a.len(), 60);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.node, y.node);
            let (lat, lon) = (x.node.lat.unwrap(), x.node.lon.unwrap());
            assert!(
                (44.40..44.47).contains(&lat) && (25.98..26.06).contains(&lon),
                "{lat},{lon}"
            );
        }
        let ids: std::collections::HashSet<_> = a.iter().map(|n| n.node.id.clone()).collect();
        assert_eq!(ids.len(), 60);
    }
}
