/** A signed message's text that does not have the one exact shape we sign; `message` names what is wrong. */
export class RewardsMessageError extends Error {
  override name = 'RewardsMessageError';
}
