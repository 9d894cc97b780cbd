// An event sink that keeps what reaches it, as the JSON a real output would write (analyzer tests).
import type { AlertEvent, EventSink, ShadowEvent } from '../../common/events';

export class Collect implements EventSink {
  events: ShadowEvent[] = [];
  write(ev: ShadowEvent) {
    this.events.push(JSON.parse(JSON.stringify(ev)));
  }
  get alerts(): AlertEvent[] {
    return this.events.filter((e): e is AlertEvent => e.type === 'alert');
  }
}
