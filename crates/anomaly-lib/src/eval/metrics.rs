//! Detection metrics over scored events.

/// ROC AUC (probability that a random attack event outscores a random legitimate one, ties
/// counting half). `None` when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann-Whitney U with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0.total_cmp(&pairs[i].0).is_eq() {
            j += 1;
        }
        let average_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += average_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// True-positive rate at a false-positive rate of at most `fpr`: the threshold is set just
/// above the legitimate score that `fpr` of legitimate events reach, and an attack counts
/// only if it scores strictly above it. `None` when either class is empty or `fpr` is not in
/// `[0, 1]`.
pub fn tpr_at_fpr(scores: &[f64], labels: &[bool], fpr: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&fpr) {
        return None;
    }
    let mut negatives: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| *s)
        .collect();
    let positives: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(s, _)| *s)
        .collect();
    if negatives.is_empty() || positives.is_empty() {
        return None;
    }
    negatives.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fpr * negatives.len() as f64).floor() as usize;
    let threshold = negatives[allowed.min(negatives.len() - 1)];
    let hit = positives.iter().filter(|s| **s > threshold).count();
    Some(hit as f64 / positives.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &labels), Some(0.5));
        assert_eq!(roc_auc(&[0.5], &[true]), None);
    }

    #[test]
    fn tpr_respects_the_fpr_budget() {
        // 100 negatives 0..100, positives 95.5 and 50.5.
        let mut scores: Vec<f64> = (0..100).map(f64::from).collect();
        let mut labels = vec![false; 100];
        scores.extend([95.5, 50.5]);
        labels.extend([true, true]);
        // 1% FPR: threshold 98 (only 99 is above it), so neither attack is caught.
        assert_eq!(tpr_at_fpr(&scores, &labels, 0.01), Some(0.0));
        // 5%: threshold 94, so 95.5 is caught and 50.5 is not.
        assert_eq!(tpr_at_fpr(&scores, &labels, 0.05), Some(0.5));
        assert_eq!(tpr_at_fpr(&scores, &labels, 1.0), Some(1.0));
        assert_eq!(tpr_at_fpr(&scores, &labels, 2.0), None);
    }
}
