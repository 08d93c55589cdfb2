export interface LinuxStoryOptions {
  readonly ramMiB?: number;
}
export function linuxStory(_o: LinuxStoryOptions = {}): string {
  return "";
}
