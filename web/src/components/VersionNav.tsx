import { Icon } from "./icons";

interface VersionNavProps {
  index: number;
  count: number;
  onShow: (index: number) => void;
}

/** `< 2/3 >` between a message's versions (siblings of the same role under one parent). */
export function VersionNav({ index, count, onShow }: VersionNavProps) {
  return (
    <span class="version-nav" data-testid="version-nav" role="group" aria-label="Versions">
      <button
        type="button"
        class="icon-button icon-button-small"
        data-testid="version-prev"
        aria-label="Previous version"
        disabled={index === 0}
        onClick={() => onShow(index - 1)}
      >
        <Icon name="left" />
      </button>
      <span class="version-count" data-testid="version-count" aria-live="polite">
        {index + 1}/{count}
      </span>
      <button
        type="button"
        class="icon-button icon-button-small"
        data-testid="version-next"
        aria-label="Next version"
        disabled={index === count - 1}
        onClick={() => onShow(index + 1)}
      >
        <Icon name="right" />
      </button>
    </span>
  );
}
