//! Random loss models, each drawing from its direction's own random stream.
//!
//! Guarantees: one draw per frame that reaches the air, so the sequence of verdicts depends only on
//! the seed and the number of frames offered in that direction.

use crate::model::LossModel;
use crate::rng::SimRng;

/// The running state of a loss model.
#[derive(Debug, Clone)]
pub enum Loss {
    /// Never loses.
    None,
    /// Loses each frame with probability `p`.
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// Gilbert–Elliott with a lossless good state and an all-loss bad state.
    GilbertElliott {
        /// P(good → bad) per frame.
        p_enter: f64,
        /// P(bad → good) per frame.
        p_leave: f64,
        /// In the bad state.
        bad: bool,
    },
}

impl Loss {
    /// The loss process for a model. Gilbert–Elliott is parameterised so that its long-run loss rate
    /// is `loss_rate` and its mean burst `mean_burst` frames: leave = 1/burst, enter =
    /// leave·rate/(1−rate).
    pub fn new(model: &LossModel) -> Loss {
        match *model {
            LossModel::None => Loss::None,
            LossModel::Bernoulli { p } => Loss::Bernoulli { p },
            LossModel::GilbertElliott {
                loss_rate,
                mean_burst,
            } => {
                let p_leave = 1.0 / mean_burst;
                Loss::GilbertElliott {
                    p_enter: p_leave * loss_rate / (1.0 - loss_rate),
                    p_leave,
                    bad: false,
                }
            }
        }
    }

    /// Decides whether the next frame is lost.
    pub fn lose(&mut self, rng: &mut SimRng) -> bool {
        match self {
            Loss::None => false,
            Loss::Bernoulli { p } => rng.chance(*p),
            Loss::GilbertElliott {
                p_enter,
                p_leave,
                bad,
            } => {
                let flip = if *bad { *p_leave } else { *p_enter };
                if rng.chance(flip) {
                    *bad = !*bad;
                }
                *bad
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn run(model: LossModel, n: usize) -> Vec<bool> {
        let mut loss = Loss::new(&model);
        let mut rng = SimRng::new(42, Stream::UplinkLoss);
        (0..n).map(|_| loss.lose(&mut rng)).collect()
    }

    // Proves Bernoulli loses about p of the frames.
    #[test]
    fn bernoulli_rate() {
        let v = run(LossModel::Bernoulli { p: 0.1 }, 100_000);
        let rate = v.iter().filter(|&&l| l).count() as f64 / v.len() as f64;
        assert!((rate - 0.1).abs() < 0.005, "expected ~0.1, got {rate}");
    }

    // Proves Gilbert–Elliott matches its mean loss rate and mean burst length.
    #[test]
    fn gilbert_elliott_rate_and_burst() {
        let v = run(
            LossModel::GilbertElliott {
                loss_rate: 0.05,
                mean_burst: 4.0,
            },
            400_000,
        );
        let lost = v.iter().filter(|&&l| l).count();
        let rate = lost as f64 / v.len() as f64;
        let bursts = v.windows(2).filter(|w| !w[0] && w[1]).count();
        let mean_burst = lost as f64 / bursts as f64;
        assert!(
            (rate - 0.05).abs() < 0.005,
            "expected rate ~0.05, got {rate}"
        );
        assert!(
            (mean_burst - 4.0).abs() < 0.3,
            "expected burst ~4, got {mean_burst}"
        );
    }

    // Proves the no-loss model never loses.
    #[test]
    fn none_never_loses() {
        assert!(run(LossModel::None, 1000).iter().all(|&l| !l));
    }
}
