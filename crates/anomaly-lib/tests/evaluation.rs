//! The evaluation harness on a small fixed-seed stream: the model must clear an AUC floor and
//! beat the trivial novelty baseline.

use strongroom_anomaly::eval::{self, AttackKind, NoveltyBaseline, StreamConfig};
use strongroom_anomaly::{Config, Model};

fn small_stream() -> eval::Stream {
    let mut config = StreamConfig::default();
    config.seed = 42;
    config.users = 150;
    config.days = 40;
    config.warmup_days = 15;
    config.attacked_share = 0.15;
    config.exfiltration_share = 0.05;
    eval::generate(&config).unwrap()
}

#[test]
fn generator_is_deterministic_and_labelled() {
    let (a, b) = (small_stream(), small_stream());
    assert_eq!(a.events, b.events);
    assert!(
        a.events
            .windows(2)
            .all(|w| w[0].event.time <= w[1].event.time)
    );
    for kind in [
        AttackKind::Naive,
        AttackKind::Vpn,
        AttackKind::Targeted,
        AttackKind::Exfiltration,
    ] {
        assert!(
            a.events.iter().any(|e| e.attack == Some(kind)),
            "{kind:?} present"
        );
    }
    assert!(
        a.events
            .iter()
            .filter(|e| e.attack.is_some())
            .all(|e| e.event.time >= a.warmup_end)
    );
}

#[test]
fn model_clears_the_auc_floor_and_beats_the_baseline() {
    let stream = small_stream();
    let mut model = Model::new(Config::default()).unwrap();
    let ours = eval::evaluate(&mut model, &stream).unwrap();
    let baseline = NoveltyBaseline::default().evaluate(&stream);
    println!("model:\n{ours}\nbaseline:\n{baseline}");

    let auc = ours.auc.unwrap();
    assert!(auc >= 0.95, "AUC {auc}");
    assert!(
        ours.login_auc.unwrap() >= 0.97,
        "login AUC {:?}",
        ours.login_auc
    );
    assert!(
        ours.tpr_at_1pct.unwrap() >= 0.6,
        "TPR@1% {:?}",
        ours.tpr_at_1pct
    );
    assert!(
        ours.legit_logins_challenged <= 0.05,
        "challenged {}",
        ours.legit_logins_challenged
    );
    assert!(
        auc > baseline.auc.unwrap() + 0.1,
        "beats the baseline: {auc} vs {:?}",
        baseline.auc
    );
    assert!(ours.login_auc.unwrap() > baseline.login_auc.unwrap());
}

#[test]
fn generator_rejects_bad_shapes() {
    let mut config = StreamConfig::default();
    config.warmup_days = config.days;
    assert!(matches!(
        eval::generate(&config),
        Err(strongroom_anomaly::Error::InvalidConfig {
            field: "warmup_days",
            ..
        })
    ));
    let mut config = StreamConfig::default();
    config.attacked_share = f64::NAN;
    assert!(eval::generate(&config).is_err());
}
